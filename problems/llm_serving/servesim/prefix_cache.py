"""Per-instance prefix cache: LRU over system prompts and conversation histories.

It models a radix-tree KV cache with two levels: a tenant's system prompt, and below it
the history of one conversation (which grows turn by turn and replaces its older entry).
A child is always touched before its parent, so LRU evicts histories before the system
prompt they extend. Cached tokens live in the KV memory that running requests leave
free; the simulator shrinks the cache when requests need the room. Hits are whole
16-token blocks.
"""

from __future__ import annotations

from collections import OrderedDict


class PrefixCache:
    __slots__ = ("entries", "size", "block")

    def __init__(self, block_size: int) -> None:
        self.entries: OrderedDict[int, int] = OrderedDict()  # key -> cached tokens
        self.size = 0
        self.block = block_size

    @staticmethod
    def system_key(tenant: int) -> int:
        return -1 - tenant

    def match(self, tenant: int, conversation: int, system_len: int, prefix_len: int, touch: bool) -> int:
        """Tokens of this prompt's prefix held in the cache, in whole blocks."""
        entries = self.entries
        skey = -1 - tenant
        if skey not in entries:
            return 0
        hit = system_len
        history = entries.get(conversation, 0) if prefix_len > system_len else 0
        if history:
            hit = min(prefix_len, system_len + history)  # an older history is a shorter prefix
            if touch:
                entries.move_to_end(conversation)
        if touch:
            entries.move_to_end(skey)
        return hit - hit % self.block

    def insert(self, key: int, tokens: int) -> None:
        old = self.entries.pop(key, 0)
        self.entries[key] = tokens
        self.size += tokens - old

    def evict_to(self, limit: int) -> None:
        entries = self.entries
        while self.size > limit and entries:
            _, tokens = entries.popitem(last=False)
            self.size -= tokens
