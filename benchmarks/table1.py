"""The paper's Table 1 benchmark; ``python benchmarks/table1.py --help`` lists the options."""

import sys

from sklearn_icc.benchmarking import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
