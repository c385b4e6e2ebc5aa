from amazon_netsuite.ledger.cli import main

raise SystemExit(main())
