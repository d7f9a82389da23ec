/** Durable coordinator state behind the {@link io.dsfleet.coordinator.store.Store} interface; SQLite by default. */
package io.dsfleet.coordinator.store;
