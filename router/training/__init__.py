"""Training of the complexity classifier (``router train``; entry point ``train.run``).

- ``corpus``: the data folder read into one table of distinct prompts (``load_corpus``);
- ``features``: their design matrix (``featurize``);
- ``fits``: the per-model heads, the IRT difficulty scale, the MMLU line, the output-length
  models, and their held-out metrics;
- ``routing_metrics``: routing on each source's held-out prompts;
- ``calibration``: the input-token estimate against real counts;
- ``card``: the model card's generated section;
- ``params``: the hyper-parameters;
- ``train``: ``train`` and ``run``, which put the above together.

The validation split is ``router.evaluation.split``'s. Nothing is imported here, so running
``router.bench.classifier`` does not load scikit-learn.
"""
