"""``python -m hazardmap`` is the ``hazardmap`` command."""

from hazardmap.cli import main

main()
