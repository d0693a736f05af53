"""The read side: JSON APIs for the sidebar, the admin pages and operators, scoped by API token."""
