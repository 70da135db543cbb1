// Package tapestry is PuddleStore's default overlay: the Tapestry location
// and routing infrastructure of Zhao, Huang, Stribling, Rhea, Joseph and
// Kubiatowicz ("Tapestry: A Resilient Global-Scale Overlay for Service
// Deployment", IEEE JSAC 2004), as a pure core that a driver runs over the
// transport.
//
// So far it holds the routing table (§3.1): 40 levels of 16 slots, each
// slot up to SlotSize neighbours ordered by measured round-trip time, and
// next-hop choice with surrogate routing (§3.2), which gives every key one
// deterministic root on any membership; salted keys, so an object has k
// roots (§3.3); backpointers by level (§4.2); and the object-pointer store, soft state that expires
// unless republished (§3.3). Join, publish and locate messages, failure
// handling and the Step/Tick/Ready core come next (issue 3).
package tapestry
