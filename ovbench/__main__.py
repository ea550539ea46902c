"""``python -m ovbench`` (and ``torchrun -m ovbench``) run the command line."""

from ovbench.cli import main

main()
