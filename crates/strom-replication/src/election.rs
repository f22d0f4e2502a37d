//! The controller's decisions about one partition's registration: leader election, fencing and
//! unfencing brokers, and validating a leader's ISR proposal (AlterPartition).
//!
//! These are pure functions from a registration to the next one; committing it to the metadata
//! log and telling brokers is the controller's job (strom-metadata), not this module's.

use crate::action::IsrProposal;
use crate::error::{Error, Result};
use crate::ids::{BrokerId, LeaderEpoch, PartitionEpoch};

/// A partition's leadership as the controller records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRegistration {
    /// All replicas, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas, sorted. Never empty: when the last member is fenced it stays here
    /// (the partition is offline), so only it can come back as a clean leader.
    pub isr: Vec<BrokerId>,
    /// The leader; `None` means the partition is offline.
    pub leader: Option<BrokerId>,
    /// Bumped on every leader change, including to and from offline.
    pub leader_epoch: LeaderEpoch,
    /// Bumped on every change of this registration.
    pub partition_epoch: PartitionEpoch,
}

/// Controller settings for elections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ElectionConfig {
    /// `unclean.leader.election.enable`: allow a live replica outside the ISR to lead when no
    /// ISR member is live. It may lose acknowledged records. Off by default.
    pub unclean_leader_election_enable: bool,
}

/// How a leader was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionKind {
    /// From the ISR: every committed record is on the new leader.
    Clean,
    /// From outside the ISR: committed records may be lost.
    Unclean,
    /// No eligible live replica: the partition is offline.
    Offline,
}

/// Choose a leader: the first replica in preference order that is live and in the ISR; else,
/// when unclean election is enabled, the first live replica (which becomes the whole ISR);
/// else none. Returns the kind of election and the registration with the leader set, the
/// leader epoch bumped if the leader changed and the partition epoch bumped if anything did.
#[must_use]
pub fn elect_leader(
    registration: &PartitionRegistration,
    live: &[BrokerId],
    config: ElectionConfig,
) -> (ElectionKind, PartitionRegistration) {
    let is_live = |replica: &&BrokerId| live.contains(replica);
    let clean = registration
        .replicas
        .iter()
        .filter(is_live)
        .find(|replica| registration.isr.contains(replica));
    let (kind, leader, isr) = match clean {
        Some(&leader) => (ElectionKind::Clean, Some(leader), registration.isr.clone()),
        None => match registration.replicas.iter().find(is_live) {
            Some(&leader) if config.unclean_leader_election_enable => {
                (ElectionKind::Unclean, Some(leader), vec![leader])
            }
            _ => (ElectionKind::Offline, None, registration.isr.clone()),
        },
    };
    (kind, change(registration, leader, isr))
}

/// A broker was fenced (stopped heartbeating or crashed): it leaves the ISR unless it is the
/// last member, and if it led, a new leader is elected.
#[must_use]
pub fn fence_broker(
    registration: &PartitionRegistration,
    broker: BrokerId,
    live: &[BrokerId],
    config: ElectionConfig,
) -> PartitionRegistration {
    let mut isr: Vec<BrokerId> = registration
        .isr
        .iter()
        .copied()
        .filter(|&replica| replica != broker)
        .collect();
    if isr.is_empty() {
        isr.clone_from(&registration.isr);
    }
    let shrunk = PartitionRegistration {
        isr,
        ..registration.clone()
    };
    if registration.leader == Some(broker) || registration.leader.is_none() {
        let (_, res) = elect_leader(&shrunk, live, config);
        return bump_partition_epoch(registration, res);
    }
    change(registration, registration.leader, shrunk.isr)
}

/// A broker came back (unfenced): an offline partition gets a leader if one is eligible now.
/// It does not rejoin the ISR here; its leader proposes that once it has caught up.
#[must_use]
pub fn unfence_broker(
    registration: &PartitionRegistration,
    live: &[BrokerId],
    config: ElectionConfig,
) -> PartitionRegistration {
    if registration.leader.is_some() {
        return registration.clone();
    }
    elect_leader(registration, live, config).1
}

/// Validate and apply a leader's ISR proposal (AlterPartition): it must come from the current
/// leader epoch and partition epoch, keep the leader, name only replicas, and add only live
/// brokers (KIP-841: a fenced broker cannot join the ISR).
pub fn alter_isr(
    registration: &PartitionRegistration,
    proposal: &IsrProposal,
    live: &[BrokerId],
) -> Result<PartitionRegistration> {
    if proposal.leader_epoch != registration.leader_epoch {
        return Err(Error::LeaderEpochMismatch {
            current: registration.leader_epoch,
            got: proposal.leader_epoch,
        });
    }
    if proposal.partition_epoch != registration.partition_epoch {
        return Err(Error::PartitionEpochMismatch {
            current: registration.partition_epoch,
            got: proposal.partition_epoch,
        });
    }
    let Some(leader) = registration.leader else {
        return Err(Error::InvalidIsr("the partition has no leader"));
    };
    if !proposal.isr.contains(&leader) {
        return Err(Error::InvalidIsr("the leader is not in the isr"));
    }
    if let Some(&replica) = proposal
        .isr
        .iter()
        .find(|replica| !registration.replicas.contains(replica))
    {
        return Err(Error::UnknownReplica(replica));
    }
    let adds_fenced = proposal
        .isr
        .iter()
        .any(|replica| !registration.isr.contains(replica) && !live.contains(replica));
    if adds_fenced {
        return Err(Error::InvalidIsr("a fenced broker cannot join the isr"));
    }
    let mut isr = proposal.isr.clone();
    isr.sort_unstable();
    isr.dedup();
    Ok(change(registration, Some(leader), isr))
}

fn change(
    registration: &PartitionRegistration,
    leader: Option<BrokerId>,
    mut isr: Vec<BrokerId>,
) -> PartitionRegistration {
    isr.sort_unstable();
    let mut res = PartitionRegistration {
        leader,
        isr,
        ..registration.clone()
    };
    if res.leader != registration.leader {
        res.leader_epoch = registration.leader_epoch.next();
    }
    if res != *registration {
        res.partition_epoch = registration.partition_epoch.next();
    }
    res
}

fn bump_partition_epoch(
    registration: &PartitionRegistration,
    res: PartitionRegistration,
) -> PartitionRegistration {
    // `elect_leader` compared with the shrunk ISR; compare with the original instead.
    let mut res = res;
    if res != *registration && res.partition_epoch == registration.partition_epoch {
        res.partition_epoch = registration.partition_epoch.next();
    }
    res
}
