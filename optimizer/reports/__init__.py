"""Plans written for people: JSON, CSV and Excel files."""
