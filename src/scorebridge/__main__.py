from scorebridge.cli import main

raise SystemExit(main())
