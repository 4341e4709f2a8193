"""Settings and the data files (regions, sectors, keywords) that the service reads."""
