"""The demo: a generated but realistic stream of Zendesk tickets and widget events, replayed
over HTTP into a running server exactly as Zendesk and the widget would send it."""
