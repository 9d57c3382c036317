"""Demo data: a deterministic city of unions, units, members and staff logins."""
