/*
 * protobuf-c's unpacker recurses once per nested message and has no depth limit: a 600 KB
 * file of graphs inside attributes inside nodes inside graphs overflowed colnet's stack. This
 * walks the wire format iteratively, guided by the generated descriptors (which fields are
 * messages), and refuses nesting deeper than any model needs before the unpacker runs. It
 * only measures depth and skips everything else; protobuf-c still does the reading.
 */
#include "onnx.h"

#define MAX_DEPTH 32 /* a model's deepest honest path (a type in a type in ...) is far less */

/* a varint at *p (before end) into *v; false if it runs past end or past 10 bytes */
static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
		if (!(b & 0x80)) return true;
	}
	return false;
}

bool cn_onnx_depth_ok(const uint8_t *data, size_t len)
{
	struct frame {
		const uint8_t *end;
		const ProtobufCMessageDescriptor *desc;
	} stack[MAX_DEPTH];
	int depth = 0;
	stack[0] = (struct frame){data + len, &onnx__model_proto__descriptor};
	const uint8_t *p = data;
	for (;;) {
		while (p == stack[depth].end)
			if (depth-- == 0) return true;
		uint64_t key, n;
		if (!varint(&p, stack[depth].end, &key))
			return true; /* corrupt: protobuf-c says so */
		switch (key & 7) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (!varint(&p, stack[depth].end, &n)) return true;
			continue;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
			n = 8;
			break;
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			n = 4;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
			if (!varint(&p, stack[depth].end, &n)) return true;
			break;
		default:
			return true; /* groups and the reserved types: the unpacker refuses them */
		}
		if (n > (uint64_t)(stack[depth].end - p)) return true;
		const ProtobufCFieldDescriptor *f =
		    (key & 7) == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED && key >> 3 <= UINT32_MAX
		        ? protobuf_c_message_descriptor_get_field(stack[depth].desc,
		                                                  (unsigned)(key >> 3))
		        : NULL;
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (depth + 1 == MAX_DEPTH) return false;
			stack[depth + 1] = (struct frame){p + n, f->descriptor};
			depth++;
			continue;
		}
		p += n;
	}
}
