"""Documents a member or NEXCO receives: rendering to PDF and Excel (issue 10)."""
