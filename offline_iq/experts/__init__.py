"""Expert controllers, expert training and Minari dataset collection (including shipped data)."""
