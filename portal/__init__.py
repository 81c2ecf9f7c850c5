"""M4S owner portal: the application kernel and everything the car owner does."""
