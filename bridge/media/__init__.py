"""Media both ways: LINE content into Slack threads (:mod:`.inbound`), Slack files to LINE
(:mod:`.outbound`), served to LINE from signed, expiring URLs (:mod:`.sign`, :mod:`.serve`)."""
