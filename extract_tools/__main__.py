import sys

from extract_tools.cli import main

sys.exit(main())
