"""The paper's Table 1: an alias of ``sklearn-icc bench paper-t``; ``--help`` lists the options."""

import sys

from sklearn_icc.benchmarking import main

if __name__ == "__main__":
    sys.exit(main(["paper-t", *sys.argv[1:]]))
