"""The operator CLI, `warroom`."""
