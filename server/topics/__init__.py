"""Topics and tickets, the read side: what the detector's understanding stage wrote, for the API."""
