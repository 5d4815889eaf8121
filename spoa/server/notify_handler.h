// The seam between the SPOP engine and the decision code: the server parses a NOTIFY and asks the
// handler for the actions to put in the ACK. Called on a worker thread; must never block.
#pragma once

#include "spoa/spop/spop.h"

namespace myspoa::server {

class NotifyHandler {
 public:
  virtual ~NotifyHandler() = default;
  // `ack` has been begun with the frame's stream/frame ids; add set-var/unset-var actions to it.
  // If the handler adds none, the server adds one (never send an empty ACK: HAProxy 3.1 stalls).
  virtual void on_notify(const spop::Notify& notify, spop::AckWriter& ack, int worker_index) = 0;
};

}  // namespace myspoa::server
