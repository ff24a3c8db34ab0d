"""Who is asking and what they may read: API keys (`apikeys`), the caller (`caller`)."""
