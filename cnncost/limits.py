"""Limits that keep hostile or mistaken input from running for minutes or exhausting memory.

Each is far beyond any real network: ResNet-1202 has about 4,000 layers, the largest bundled input is 1024×1024.
"""

MAX_FILE_BYTES = 256_000  # a spec is a few kilobytes (the largest bundled one is under 5 kB)
MAX_YAML_NODES = 100_000  # values after alias expansion ("billion laughs")
MAX_YAML_DEPTH = 64  # nesting of YAML mappings and lists
MAX_LAYERS = 50_000  # layers after expanding blocks and repeats (refused within about a second)
MAX_REPEAT = 100_000  # copies in one repeat
MAX_CALL_DEPTH = 32  # blocks calling blocks
MAX_DIMENSION = 1_000_000  # any one of H, W, C, a vector length or a kernel size
MAX_BATCH = 1_000_000
MAX_ELEMENTS = 10**12  # elements of one activation (H·W·C): a 1,000,000×1,000,000 image is not a CNN input
MAX_INT = 10**18  # any integer an expression produces
MAX_EXPR_CHARS = 500  # length of one expression
MAX_LIST = 10_000  # elements of a list an expression builds (range, a comprehension)
#: Steps of work while expanding a network: each layer item (also one switched off by 'when' or empty), repeat
#: copy, block call, argument binding, expression term and list element a function goes through counts one.
#: Bundled networks take 2.5-4.5 per layer (ResNet-1202: 9,013); at about 7 µs a step, expansions that add no
#: layers (empty or switched-off groups, a block fanning out into 2^31 empty calls) are refused in about 1 s.
MAX_WORK = 150_000


def decimal_digits(number: int) -> int:
    """How many decimal digits a whole number has, without ``str()`` (which refuses more than 4,300 digits, and a
    10,000-digit hex literal is only 8,300 characters of YAML)."""
    number = abs(number)
    if number < 10:
        return 1
    digits = int((number.bit_length() - 1) * 0.30102999566398120) + 1  # 2**(b-1) ≤ n < 2**b
    return digits + 1 if number >= 10**digits else digits
