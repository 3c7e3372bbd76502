"""The chat app's handlers. Stand-ins for the real model code (no weights, no GPU): they answer
deterministically and say where they ran, so that a cluster running them can be checked end to end."""
