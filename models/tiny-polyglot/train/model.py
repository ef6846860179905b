"""A Llama-family decoder in plain PyTorch with Hugging Face module names (RMSNorm, RoPE, SwiGLU, GQA).

Plain PyTorch because Debian 12 packages no `transformers`; the module names and config.json follow
LlamaForCausalLM so that the state dict and the ONNX node names look like a Hugging Face / Optimum export.
Residual-stream convention used everywhere in the project: hidden_states[0] is the embeddings output and
hidden_states[k + 1] the output of block k (after its MLP residual add, before the final norm); a steering
vector "at k" is added to hidden_states[k] at every position it applies to, and hidden_states[k] reports the
steered value.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 12288
    hidden_size: int = 256
    intermediate_size: int = 704
    num_hidden_layers: int = 6
    num_attention_heads: int = 8
    num_key_value_heads: int = 2
    max_position_embeddings: int = 512
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    tie_word_embeddings: bool = True
    bos_token_id: int = 0
    eos_token_id: int = 1
    pad_token_id: int = 2

    def hf_config(self):
        c = asdict(self)
        c.update({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
                  "head_dim": self.hidden_size // self.num_attention_heads, "attention_bias": False,
                  "mlp_bias": False, "torch_dtype": "float32", "use_cache": True, "initializer_range": 0.02})
        return c


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.h, self.kv, self.hd = c.num_attention_heads, c.num_key_value_heads, c.hidden_size // c.num_attention_heads
        self.q_proj = nn.Linear(c.hidden_size, self.h * self.hd, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.kv * self.hd, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.h * self.hd, c.hidden_size, bias=False)
        inv = 1.0 / (c.rope_theta ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, x, position_ids, mask, past_k=None, past_v=None):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        present = (k, v)
        # Grouped-query attention: query head j reads kv head j // rep. expand + reshape rather than
        # repeat_interleave, which torch 1.13's ONNX export traces with a fixed sequence length.
        rep = self.h // self.kv
        kk = k[:, :, None].expand(-1, -1, rep, -1, -1).reshape(b, self.h, -1, self.hd)
        vv = v[:, :, None].expand(-1, -1, rep, -1, -1).reshape(b, self.h, -1, self.hd)
        att = (q @ kk.transpose(-1, -2)) / math.sqrt(self.hd)
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
        att = F.softmax(att, dim=-1)
        y = (att @ vv).transpose(1, 2).reshape(b, t, self.h * self.hd)
        return self.o_proj(y), present


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, position_ids, mask, past_k=None, past_v=None):
        a, present = self.self_attn(self.input_layernorm(x), position_ids, mask, past_k, past_v)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class LlamaModel(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, input_ids, attention_mask, position_ids, past, steer, return_hidden):
        b, t = input_ids.shape
        past_len = past[0][0].shape[2] if past is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + t, device=input_ids.device)[None].expand(b, t)
        total = past_len + t
        if attention_mask is None:
            attention_mask = torch.ones(b, total, dtype=torch.long)
        q_pos = torch.arange(t)[:, None] + past_len
        k_pos = torch.arange(total)[None, :]
        causal = k_pos <= q_pos                                              # [t, total]
        mask = causal[None, None] & attention_mask[:, None, None, :].bool()  # [b, 1, t, total]
        x = self.embed_tokens(input_ids)
        hidden = []

        def residual(k, x):
            if steer is not None and k in steer:
                x = x + steer[k]
            if return_hidden:
                hidden.append(x)
            return x

        x = residual(0, x)
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = past[i] if past is not None else (None, None)
            x, present = layer(x, position_ids, mask, pk, pv)
            presents.append(present)
            x = residual(i + 1, x)
        return self.norm(x), presents, (hidden if return_hidden else None)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.config = c
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.num_hidden_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None, steer=None,
                return_hidden=False):
        """input_ids [b, t]; attention_mask [b, past + t] (1 = attend); past: list of (k, v) per layer;
        steer: {k: tensor [hidden] or [b, t, hidden]} added to the residual at k. Returns (logits, presents,
        hidden_states or None)."""
        x, presents, hidden = self.model(input_ids, attention_mask, position_ids, past, steer, return_hidden)
        return self.lm_head(x), presents, hidden
