# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/textcls-jax/textcls-jax/blob/main/colab/quickstart.ipynb)
#
# # Quickstart: an SST-2 sentiment classifier
#
# This notebook trains the Kim-style CNN of `configs/sst2_cnn.py` on GLUE SST-2 (TFDS `glue/sst2`),
# draws its learning curves and dev confusion matrix, lists the dev sentences it gets most wrong,
# and classifies sentences of your own. It runs on a CPU runtime; the config's recorded run
# (`results/sst2_cnn/default.json`, tabulated in the docs) says how long it takes and what it scores.

# %% [markdown]
# ## Setup
#
# In Colab, this cell fetches the textcls-jax release this notebook belongs to, installs it with
# its pinned dependencies and, on a GPU runtime, the matching CUDA build of JAX (a minute or two).
# Anywhere else it does nothing: install with the README's command and start Jupyter from the
# repository.

# %%
import os
import subprocess
import sys

VERSION = '0.1.0'  # pyproject.toml's version; a test keeps the two equal.
JAX_VERSION = '0.10.2'  # pyproject.toml's jax pin, for the CUDA build on a GPU runtime.
REPOSITORY = 'https://github.com/textcls-jax/textcls-jax'  # pyproject.toml's [project.urls].
if 'google.colab' in sys.modules:
  checkout = REPOSITORY.rsplit('/', 1)[-1]
  if not os.path.exists(checkout):
    subprocess.run(['git', 'clone', '--quiet', '--depth=1', f'--branch=v{VERSION}', REPOSITORY],
                   check=True)
  os.chdir(checkout)
  on_gpu = subprocess.run(['nvidia-smi'], capture_output=True).returncode == 0
  subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '-e', '.']
                 + ([f'jax[cuda12]=={JAX_VERSION}'] if on_gpu else []), check=True)

# %% [markdown]
# Paths below (`configs/`, `runs/`) are relative to the repository's root.

# %%
if os.path.basename(os.getcwd()) == 'colab':
  os.chdir('..')

# %% [markdown]
# ## Parameters
#
# `NUM_STEPS = 0` keeps the config's own length; a smaller number gives a quick look.
# `OVERRIDES` sets any config key, as `--config.KEY=VALUE` does on the command line. Without
# internet, point TFDS at a prepared copy: `{'data.tfds_data_dir': '../shared/tfds'}`, or read the
# same data from TSV files: `{'data.source': 'tsv:../shared/data/sst2'}`.

# %% tags=["parameters"]
NUM_STEPS = 0
WORKDIR = 'runs/quickstart'
OVERRIDES = {}

# %% [markdown]
# ## The config
#
# Every setting of a run lives in its ml-collections config. Here is the one this notebook trains.

# %%
from textcls_jax import config_base
from textcls_jax import quiet

tf = quiet.setup_logging()  # Progress and dev lines; the libraries' INFO chatter off.

config = config_base.config_file('configs/sst2_cnn.py')
config.update_from_flattened_dict(OVERRIDES)
if NUM_STEPS:
  config.train.num_steps = NUM_STEPS
print(config)

# %% [markdown]
# ## Train
#
# The run reads SST-2 through TFDS, trains a SentencePiece tokenizer on the training sentences,
# then trains and evaluates on the dev split as the config says. Everything lands in `WORKDIR`:
# checkpoints, `metrics.jsonl`, TensorBoard events and the plots. Running this cell again resumes
# from the latest checkpoint (or, once finished, returns at once), so an interrupted session loses
# nothing.

# %%
from textcls_jax import train

dev = train.train_and_evaluate(config, WORKDIR)
print(f"dev accuracy {dev['accuracy']:.4f}, macro-F1 {dev['macro_f1']:.4f} "
      f"over {dev['count']:.0f} sentences")

# %% [markdown]
# ## Learning curves
#
# The run ends by drawing `WORKDIR/plots/curves.png` from its `metrics.jsonl`: training and dev
# loss, accuracy, and the learning rate's warmup and decay.

# %%
from IPython.display import Image, display

display(Image(os.path.join(WORKDIR, 'plots', 'curves.png')))

# %% [markdown]
# ## Confusion matrix
#
# The last dev evaluation, counted by true and predicted class.

# %%
display(Image(os.path.join(WORKDIR, 'plots', 'confusion.png')))

# %% [markdown]
# ## The dev sentences it gets most wrong
#
# `Predictor` loads the workdir's best checkpoint (by dev accuracy), tokenizer and labels. Here it
# classifies the dev split again, and the mistakes it made most confidently come first.

# %%
from textcls_jax.data import sources
from textcls_jax.predict import Predictor

predictor = Predictor.from_workdir(WORKDIR)
dev_split = sources.load_split(
    config.data.source, config.data.eval_split, text_field=config.data.text_field,
    label_field=config.data.label_field, tfds_data_dir=config.data.tfds_data_dir or None)
truth = [predictor.labels.decode(i) for i in predictor.labels.encode(dev_split)]
predictions = predictor.predict(dev_split.texts)
mistakes = sorted(
    ((p['probabilities'][str(p['label'])], text, true, p['label'])
     for text, true, p in zip(dev_split.texts, truth, predictions) if p['label'] != true),
    reverse=True)
print(f'step {predictor.step}: {len(mistakes)} of {len(truth)} dev sentences misclassified')
for confidence, text, true, predicted in mistakes[:10]:
  print(f'{confidence:.2f} {predicted!s:>8} (is {true!s:>8})  {text.strip()}')

# %% [markdown]
# ## Your own sentences

# %%
sentences = ['a gorgeous , witty , seductive movie .',
             'the plot is nowhere near as clever as it thinks it is .']
for text, p in zip(sentences, predictor.predict(sentences)):
  print(f"{p['label']!s:>8} {p['probabilities']}  {text}")

# %% [markdown]
# ## Next
#
# - The same run from a shell: `python -m textcls_jax.main --config=configs/sst2_cnn.py
#   --workdir=runs/sst2_cnn`; predictions for a file: `python -m textcls_jax.predict
#   --workdir=runs/sst2_cnn --input=sentences.txt`.
# - TensorBoard in Colab: `%load_ext tensorboard`, then `%tensorboard --logdir runs/quickstart`.
# - `pretrain_then_finetune.ipynb` starts the same model from masked-language-model pretraining;
#   `reproduce_and_scale.ipynb` runs configs on several devices and resumes interrupted runs.
