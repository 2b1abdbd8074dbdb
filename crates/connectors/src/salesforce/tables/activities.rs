//! Activities (Event, Task) and notes.

use patchbay_unified::FilterField as F;

use super::{CREATED, CREATED_SINCE, TIMESTAMPS, UPDATED, UPDATED_SINCE, eq, ro, rw, wo};
use crate::table::Kind::{self, Bool, Date, DateTime, Id, Integer, Text};
use crate::table::{FilterMap, ObjectMap};

const ACTIVITY_FILTERS: &[FilterMap] = &[
    eq(F::CompanyId, &["WhatId"]),
    eq(F::OwnerId, &["OwnerId"]),
    eq(F::ContactId, &["WhoId"]),
    UPDATED_SINCE,
];

/// activities <-> Event (the default). `type`, `WhoId` and `WhatId` are handled in code.
pub const EVENT: ObjectMap = ObjectMap {
    object: "Event",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        ro("downstream_id", "Id", Id),
        rw("title", "Subject", Text),
        rw("description", "Description", Text),
        rw("location", "Location", Text),
        rw("activity_datetime", "ActivityDateTime", DateTime),
        rw("start_datetime", "StartDateTime", DateTime),
        rw("end_datetime", "EndDateTime", DateTime),
        rw("activity_date", "ActivityDate", Date),
        rw("all_day_event", "IsAllDayEvent", Bool),
        rw("private", "IsPrivate", Bool),
        rw(
            "show_as",
            "ShowAs",
            Kind::Enum(&[("busy", "Busy"), ("free", "Free")]),
        ),
        rw("event_sub_type", "EventSubtype", Text),
        rw(
            "duration_seconds",
            "DurationInMinutes",
            Kind::MinutesAsSeconds,
        ),
        ro("duration_minutes", "DurationInMinutes", Integer),
        rw("owner_id", "OwnerId", Id),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &["Type", "WhoId", "WhatId"],
    filters: ACTIVITY_FILTERS,
    sorts: &[CREATED, UPDATED],
};

/// activities <-> Task (`type` task, call or email).
pub const TASK: ObjectMap = ObjectMap {
    object: "Task",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        ro("downstream_id", "Id", Id),
        rw("title", "Subject", Text),
        rw("description", "Description", Text),
        rw("activity_date", "ActivityDate", Date),
        ro("done", "IsClosed", Bool),
        wo(
            "done",
            "Status",
            Kind::BoolToText {
                when_true: "Completed",
                when_false: "Not Started",
            },
        ),
        rw("duration_seconds", "CallDurationInSeconds", Integer),
        rw("reminder_datetime", "ReminderDateTime", DateTime),
        rw("reminder_set", "IsReminderSet", Bool),
        rw("owner_id", "OwnerId", Id),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &["TaskSubtype", "WhoId", "WhatId"],
    filters: ACTIVITY_FILTERS,
    sorts: &[CREATED, UPDATED],
};

/// notes <-> Note (classic). `ParentId` is handled in code.
pub const NOTE: ObjectMap = ObjectMap {
    object: "Note",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        rw("title", "Title", Text),
        rw("content", "Body", Text),
        rw("owner_id", "OwnerId", Id),
        ro("created_by", "CreatedById", Id),
        ro("updated_by", "LastModifiedById", Id),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: false,
    quirk_fields: &["ParentId"],
    filters: &[
        eq(F::Title, &["Title"]),
        eq(F::OwnerId, &["OwnerId"]),
        UPDATED_SINCE,
        CREATED_SINCE,
    ],
    sorts: &[],
};
