"""The Flask application: subscriber pages, staff review, JSON API, feeds (issue 5)."""
