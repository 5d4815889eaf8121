// NOTIFY payload: repeated (message name, u8 nb-args, nb-args x (arg name, typed value)).
#include "spoa/spop/spop.h"

namespace myspoa::spop {

const TypedValue* Notify::arg(const Message& m, std::string_view name) const {
  for (const Arg& a : args_of(m)) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

Status parse_notify(Bytes payload, Notify& out) {
  out.clear();  // keeps capacity: no allocation once the vectors have grown
  size_t pos = 0;
  while (pos < payload.size()) {
    Message m;
    if (!decode_string(payload, pos, m.name)) return Status::Invalid;
    if (pos >= payload.size()) return Status::Invalid;
    m.nb_args = payload[pos++];
    m.first_arg = static_cast<uint32_t>(out.args.size());
    for (uint32_t i = 0; i < m.nb_args; ++i) {
      Arg a;
      if (!decode_string(payload, pos, a.name) || !decode_typed(payload, pos, a.value)) {
        return Status::Invalid;  // nb-args larger than what follows, or a truncated argument
      }
      out.args.push_back(a);
    }
    out.messages.push_back(m);
  }
  return Status::Normal;
}

}  // namespace myspoa::spop
