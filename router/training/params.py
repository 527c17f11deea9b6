"""The training hyper-parameters and the reporting grid, in one place (chosen on held-out data;
the comments say how). The validation share is the split's: ``router.evaluation.split``."""

MAX_TERMS = 20_000  # held-out mean AUC moved < 0.002 between 10k and 60k; small tables stay cached
MIN_DF = 3
HEAD_C = 1.0  # inverse L2 strength of the per-model heads (0.5-2 within 0.001 AUC)
IRT_C = 0.25  # of the shared difficulty model (best held-out log loss among 0.1-2)
PAIR_SHRINK = 0.3  # cue-pair columns are scaled by this in training: 1/0.3² ≈ 11x the L2 penalty
ONE_HOT_SCALE = 10.0  # model columns of the IRT fit, scaled so the L2 penalty barely touches them
LENGTH_ALPHA = 1.0
MIN_LENGTH_ROWS = 20  # a head with fewer output lengths uses the global length model
DEFAULT_OUTPUT_TOKENS = 256  # when the data has no output lengths at all
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)  # the routing policies the card reports
QUALITY_FRACTIONS = (0.95, 0.98, 1.0)  # shares of the best single model's quality to reach
