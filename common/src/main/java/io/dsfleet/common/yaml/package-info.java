/** Reading YAML safely: linear in the input, no aliases, a bounded document size. */
package io.dsfleet.common.yaml;
