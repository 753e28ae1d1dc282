"""The answering engine: normalise, match, compose. Pure and synchronous; no Telegram here."""
