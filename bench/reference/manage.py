#!/usr/bin/env python
"""The reference project's manage.py (`migrate`, `seed_reference`, `runserver`)."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
