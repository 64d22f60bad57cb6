import sys

from modelport.routing.supervisor import main

sys.exit(main())
