"""The LINE CRM work done from Slack: 友だち情報 (fields, tags, note), 定型文, segment broadcast."""
