/**
 * The agent's hands on the host file system, for paths a container may have changed: no-follow
 * file operations, the kubelet-style atomic writer for projected volumes, safe subPath resolution
 * and the host mounts (tmpfs, pinned bind mounts) the agent makes. Nothing here trusts a link.
 */
package io.dsfleet.agent.hostfs;
