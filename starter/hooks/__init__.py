"""The alert-hook HTTP service: monitors deliver alerts here, and incidents follow."""
