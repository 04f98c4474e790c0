"""Development tools (sandbox, private Redis): never imported by the product packages."""
