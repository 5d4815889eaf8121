// Private to spoa/ev: the libev handle behind a Loop.
#pragma once

#include <ev.h>

#include "spoa/ev/loop.h"

namespace myspoa::ev {

struct Loop::Impl {
  struct ev_loop* loop = nullptr;
};

}  // namespace myspoa::ev
