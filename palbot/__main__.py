from palbot.cli import main

raise SystemExit(main())
