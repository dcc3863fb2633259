from linesim.cli.main import main

raise SystemExit(main())
