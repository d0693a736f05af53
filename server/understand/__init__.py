"""Ticket understanding: text preparation, redaction, embeddings, live topics."""
