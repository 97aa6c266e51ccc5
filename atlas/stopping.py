"""The harness's stop rule for decoders that step token by token themselves (the PEFT adapters'
forward pass in atlas.jobs.forward_greedy, the playground's ONNX export check): a continuation is
finished at the end of the sequence, or once it holds a line of text and then a newline, the rule
`generate` applies through its stopping criterion (atlas.evaluation). Without torch, so that a
module importing it stays quick to import."""

from __future__ import annotations


def continuations(tokenizer, new_ids) -> list[tuple[str, bool]]:
    """Each row's new text up to its first end-of-sequence token, and whether the row is finished
    by the harness's stop rule: the end of the sequence, or a line of text and then a newline."""
    rows = []
    for row in new_ids.tolist():
        ended = tokenizer.eos_token_id in row
        if ended:
            row = row[: row.index(tokenizer.eos_token_id)]
        text = tokenizer.decode(row, skip_special_tokens=True)
        rows.append((text, ended or "\n" in text.lstrip()))
    return rows
