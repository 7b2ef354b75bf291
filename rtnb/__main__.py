from rtnb.cli import main

raise SystemExit(main())
