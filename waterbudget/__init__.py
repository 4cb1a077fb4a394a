"""waterbudget: water-budget execution monitoring."""
