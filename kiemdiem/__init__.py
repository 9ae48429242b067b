"""Entry points: the admin CLI, the composition root, `serve`, the web monitor."""
