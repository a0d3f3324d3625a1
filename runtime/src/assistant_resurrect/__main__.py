from assistant_resurrect.cli import main

raise SystemExit(main())
