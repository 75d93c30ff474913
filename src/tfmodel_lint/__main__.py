from tfmodel_lint.cli import main

raise SystemExit(main())
