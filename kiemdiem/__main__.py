"""`python -m kiemdiem` runs the admin CLI (the same as the `kiemdiem` command)."""

from kiemdiem.cli import main

main()
